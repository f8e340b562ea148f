import { definitionTable } from '../db/definition-table';
import type { Harvester } from './definition';

const table = definitionTable<Harvester>('harvesters');

export const listHarvesters = table.list;
export const getHarvester = table.get;
export const createHarvester = table.create;
export const updateHarvester = table.update;
export const deleteHarvester = table.remove;
